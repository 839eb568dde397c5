"""The results directory: the contract between a similarity run and everything after it.

Layout (all readable without Spark)::

    run.json                  inputs, filter, layout, transforms, n, m, rows dropped, timings,
                              versions, configuration
    classes.csv               index,name  (class order of every matrix)
    similarity-<t>.npy        float64 m x m Pearson correlation for transform t
    moments-<t>.npz           n, mean, comoment for transform t (no pickled objects)
    frequencies.npy           label baselines, when the input has labels: positives per class,
    confusion.npy             rows true class, columns top-1 prediction (single-label), or
    cooccurrence.npy          label co-occurrence counts (multi-label); all int64
    sample.npy                float32 k x m raw input scores of a uniform sample of the kept rows
    parts-<t>.npz             n (k,), mean (k, m), comoment (k, m, m): transform t's statistics
                              in k disjoint parts of the rows, for the stability of the findings
                              (``run.json`` ``parts``; :mod:`classsim_spark.core.stability`)

    groups.json               the analysis's findings (:mod:`classsim_spark.analysis`), with
    order-<t>.json            the orders and
    linkage-<t>.npy           the tree of transform t (and of the label baselines),
    memberships.npy           the fuzzy memberships behind the failed groups
    figures/                  the figures (:mod:`classsim_spark.render.figures`)
    explorer.html             the interactive page (:mod:`classsim_spark.render.explorer`)
    examples.json             the samples behind class pairs (:mod:`classsim_spark.examples`)
    windows/                  with ``by``: the statistics per value of a column
                              (:mod:`classsim_spark.io.windows`)
    unfinished.json           present only while a command is changing the directory, or after
                              one stopped before all its stages were done (see below)

A directory is written under a temporary name beside its destination and renamed into place only
when complete, so a failed run never leaves something that looks like a result. An existing
directory is replaced only when the caller asks (``overwrite=True``).

``classsim run`` then analyses and renders in the same directory, and ``analyze`` rewrites files
in it, so the scan's atomic rename alone cannot say whether they finished. ``unfinished.json``
does: it arrives with the scan's files when more stages are to follow, names the stages planned
and done, the one running (or where and why it stopped) and the command, and goes away when the
last stage is done. A directory without it is finished; readers that need a stage (``render``
needs the analysis) refuse a directory where that stage did not finish.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classsim_spark.core.moments import Moments
from classsim_spark.errors import ClasssimError
from classsim_spark.io.classes import read_class_names, write_classes_csv
from classsim_spark.io.records import RunRecord
from classsim_spark.io.windows import WINDOWS_DIR, Windows, write_windows
from classsim_spark.signals import stop_signal

# The file names of a results directory: this module owns them; every reader and writer (the
# scan, the analysis, the figures) takes them from here.
RUN_FILE = "run.json"
CLASSES_FILE = "classes.csv"
SAMPLE_FILE = "sample.npy"
UNFINISHED_FILE = "unfinished.json"
GROUPS_FILE = "groups.json"
MEMBERSHIPS_FILE = "memberships.npy"
FIGURES_DIR = "figures"
EXPLORER_FILE = "explorer.html"
EXAMPLES_FILE = "examples.json"


def similarity_file(transform: str) -> str:
    """File name of a transform's similarity matrix."""
    return f"similarity-{transform}.npy"


def moments_file(transform: str) -> str:
    """File name of a transform's mergeable moments."""
    return f"moments-{transform}.npz"


def parts_file(transform: str) -> str:
    """File name of a transform's per-part statistics."""
    return f"parts-{transform}.npz"


def order_file(transform: str) -> str:
    """File name of a transform's orders (written by the analysis)."""
    return f"order-{transform}.json"


def linkage_file(transform: str) -> str:
    """File name of a transform's tree (written by the analysis)."""
    return f"linkage-{transform}.npy"


class NotAResultsDirectoryError(ClasssimError, FileNotFoundError):
    """A path given as a results directory holds none (no run.json)."""


class ResultsExistError(ClasssimError, FileExistsError):
    """The results directory exists and overwriting was not requested."""


class UnsafeOutputError(ResultsExistError):
    """Writing the output could destroy something that is not an earlier classsim output."""


class UnfinishedResultsError(ClasssimError, RuntimeError):
    """A results directory lacks a stage that a command needs: the run that made it stopped."""


@dataclass
class SimilarityResult:
    """Class-similarity matrices of one run, with what is needed to reproduce or extend them.

    Attributes
    ----------
    classes : list of str
        Class names, in the order of every matrix.
    moments : dict
        Transform -> :class:`~classsim_spark.core.moments.Moments` (mergeable with later data).
    matrices : dict
        Transform -> float64 (m, m) correlation matrix.
    zero_variance : dict
        Transform -> names of classes with constant scores (their rows/columns are 0 off the
        diagonal).
    run : RunRecord
        The content of ``run.json`` (:mod:`classsim_spark.io.records`); by default the record of
        the matrices alone (``n`` unknown).
    path : Path or None
        The results directory, once saved or when loaded.
    counts : dict
        Label baselines, when the input had labels: ``frequencies`` (int64, m) and
        ``confusion`` (rows true, columns top-1 prediction) or ``cooccurrence`` (int64, m x m).
    sample : ndarray or None
        float32 (k, m), columns in class order: the input scores as given (before any transform)
        of a uniform random sample, without replacement, of k = min(capacity, n) of the kept
        rows, collected in the same scan; for the distribution of input values, which the
        moments cannot give. ``run.sample`` says ``rows`` (k), ``of`` (n) and ``capacity``.
        None when the run kept no sample (or predates it).
    parts : dict
        Transform -> its :class:`~classsim_spark.core.moments.Moments` in k disjoint parts of the
        rows (merging them gives ``moments``), for resampling without a second scan; empty
        when the run kept none. ``run.parts`` says ``transform``, ``count`` and ``rows``. A
        loaded result reads them from their file when first used (:class:`PartsOnDisk`).
    windows : Windows or None
        The statistics per value of ``run.by``, with their arrays, when made by a scan with
        ``by`` (written into ``windows/``); a loaded result leaves them on disk
        (:func:`classsim_spark.io.windows.read_windows`).
    files : dict
        Other files of the directory already parsed for this result (the analysis's, read by
        the figures), by path, with the size and time they had: each is parsed once per
        command while it does not change (:func:`read_once`).
    """

    classes: list[str]
    moments: dict[str, Moments]
    matrices: dict[str, np.ndarray]
    zero_variance: dict[str, list[str]] = field(default_factory=dict)
    run: RunRecord | None = None
    path: Path | None = None
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    sample: np.ndarray | None = None
    parts: Mapping[str, list[Moments]] = field(default_factory=dict)
    windows: Windows | None = None
    files: dict[Path, tuple[tuple[int, int], object]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.run is None:
            self.run = RunRecord(
                transforms=list(self.matrices),
                n=None,
                m=len(self.classes),
                zero_variance=dict(self.zero_variance),
            )

    @property
    def transforms(self) -> list[str]:
        return list(self.matrices)

    @property
    def m(self) -> int:
        return len(self.classes)

    def matrix(self, transform: str | None = None) -> np.ndarray:
        """The similarity matrix of ``transform`` (the first computed one by default)."""
        transform = transform or self.transforms[0]
        if transform not in self.matrices:
            raise KeyError(f"transform {transform!r} not computed; have {self.transforms}")
        return self.matrices[transform]

    def save(
        self,
        out: str | Path,
        overwrite: bool = False,
        stages: Iterable[str] = (),
        config: dict | None = None,
    ) -> Path:
        """Write the results directory atomically and return its path.

        ``stages`` are later stages (``"analyze"``, ``"render"``) the caller will run in it: the
        directory then arrives marked unfinished until they are done (:func:`start_stage`), with
        ``config`` recorded so that a rerun of the command can finish it.
        """
        out = Path(out)
        stages = list(stages)
        if self.run is None:  # __post_init__ sets it; said again for the type checker
            raise ValueError("a result without a run record")
        run = self.run
        with atomic_directory(out, overwrite) as tmp:
            if stages:
                _write_marker(
                    tmp, _new_marker(["similarity", *stages], config) | {"done": ["similarity"]}
                )
            write_classes_csv(self.classes, tmp / CLASSES_FILE)
            for t, matrix in self.matrices.items():
                np.save(tmp / similarity_file(t), matrix, allow_pickle=False)
                save_moments(tmp / moments_file(t), self.moments[t])
            for name, values in self.counts.items():
                np.save(tmp / f"{name}.npy", values, allow_pickle=False)
            if self.sample is not None:
                np.save(tmp / SAMPLE_FILE, self.sample, allow_pickle=False)
            for t, parts in self.parts.items():
                save_parts(tmp / parts_file(t), parts)
            if self.windows is not None:
                write_windows(tmp / WINDOWS_DIR, self.windows)
            (tmp / RUN_FILE).write_text(json.dumps(run.to_json(), indent=2) + "\n")
        self.path = out
        return out

    @classmethod
    def load(cls, path: str | Path) -> SimilarityResult:
        """Open a results directory written by :meth:`save` (no Spark needed)."""
        path = Path(path)
        run, classes = read_run(path)
        matrices, moments = {}, {}
        for t in run.transforms:
            matrices[t] = np.load(path / similarity_file(t), allow_pickle=False)
            moments[t] = load_moments(path / moments_file(t))
        zero = {t: list(v) for t, v in run.zero_variance.items()}
        counts = {
            name: np.load(path / f"{name}.npy", allow_pickle=False)
            for name in (run.labels.baselines if run.labels else [])
        }
        sample_file = path / SAMPLE_FILE
        sample = np.load(sample_file, allow_pickle=False) if sample_file.is_file() else None
        parts = {}
        if run.parts is not None and (path / parts_file(run.parts.transform)).is_file():
            parts[run.parts.transform] = path / parts_file(run.parts.transform)
        return cls(classes, moments, matrices, zero, run, path, counts, sample, PartsOnDisk(parts))


class PartsOnDisk(Mapping):
    """Transform -> its per-part :class:`Moments`, read from the ``parts-<t>.npz`` file when
    first asked for and kept: only the analysis's stability needs them, and they are k m x m
    matrices (3 x 113 MB at 3,755 classes) that figures and the explorer would read for
    nothing."""

    def __init__(self, files: dict[str, Path]) -> None:
        self._files = dict(files)
        self._read: dict[str, list[Moments]] = {}

    def __getitem__(self, transform: str) -> list[Moments]:
        if transform not in self._read:
            self._read[transform] = load_parts(self._files[transform])
        return self._read[transform]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def read_run(path: str | Path) -> tuple[RunRecord, list[str]]:
    """A results directory's run record and class names, without its matrices."""
    path = Path(path)
    run_file = path / RUN_FILE
    if not path.exists():
        raise NotAResultsDirectoryError(f"results directory not found: {path}")
    if not run_file.is_file():
        raise NotAResultsDirectoryError(
            f"{path} is not a classsim results directory (no {RUN_FILE})"
        )
    return RunRecord.from_json(json.loads(run_file.read_text())), read_class_names(
        path / CLASSES_FILE
    )


def read_once(result: SimilarityResult, file: Path, parse: Callable[[Path], object], missing=None):
    """``parse(file)``, or what it gave for ``result`` before while the file has not changed
    (same size and modification time); ``missing`` when there is no such file."""
    try:
        stamp = _stamp(file)
    except FileNotFoundError:
        return missing
    seen = result.files.get(file)
    if seen is None or seen[0] != stamp:
        seen = (stamp, parse(file))
        result.files[file] = seen
    return seen[1]


def remember(result: SimilarityResult, file: Path, value: object) -> None:
    """Record that ``file``, as it is now, holds ``value`` (the writer had it in memory), so that
    :func:`read_once` gives it without parsing the file."""
    result.files[file] = (_stamp(file), value)


def _stamp(file: Path) -> tuple[int, int]:
    stat = file.stat()
    return stat.st_size, stat.st_mtime_ns


def load_results(path: str | Path) -> SimilarityResult:
    """Open a results directory (no Spark needed): :meth:`SimilarityResult.load`."""
    return SimilarityResult.load(path)


RESULTS_ENTRIES = re.compile(
    r"^(run\.json|classes\.csv|sample\.npy|(frequencies|confusion|cooccurrence)\.npy"
    r"|(similarity|linkage)-.+\.npy|(moments|parts)-.+\.npz|groups\.json|order-.+\.json"
    r"|memberships\.npy|figures|explorer\.html|examples\.json|unfinished\.json|windows|\..+\.tmp(-\w+)?)$"
)
"""Names a results directory may hold: what the similarity run, ``analyze`` and ``render`` write
(and the temporary names of an interrupted write)."""


def foreign_entries(
    path: str | Path, allowed: re.Pattern, required: tuple[str, ...] = ()
) -> list[str]:
    """What keeps ``path`` from being a classsim output: entries whose names ``allowed`` does
    not match, then required entries that are missing; empty when it is one."""
    names = sorted(p.name for p in Path(path).iterdir())
    return [n for n in names if not allowed.match(n)] + [
        f"no {n}" for n in required if n not in names
    ]


def results_foreign_entries(path: str | Path) -> list[str]:
    """:func:`foreign_entries` of a results directory, whose ``run.json`` must name transforms."""
    found = foreign_entries(path, RESULTS_ENTRIES, (RUN_FILE,))
    if (Path(path) / RUN_FILE).exists():
        try:
            run = json.loads((Path(path) / RUN_FILE).read_text())
        except (OSError, ValueError):
            run = None
        if not (isinstance(run, dict) and isinstance(run.get("transforms"), list)):
            found.append(f"{RUN_FILE} is not a classsim run")
    return list(dict.fromkeys(found))


def is_results_directory(path: str | Path) -> bool:
    """Whether ``path`` is a classsim results directory and holds nothing else: a ``run.json``
    naming transforms, and only names a run writes (:data:`RESULTS_ENTRIES`)."""
    return not results_foreign_entries(path)


def check_writable(
    out: str | Path,
    overwrite: bool,
    *,
    inputs: Iterable[str | Path] = (),
    foreign: Callable[[Path], list[str]] = results_foreign_entries,
    what: str = "classsim results directory",
) -> None:
    """Refuse, before any work, an output that may not be written.

    ``out`` may not exist, or be an empty directory; or, with ``overwrite``, be one in which
    ``foreign`` finds nothing that an earlier run (``what``) would not have written:
    ``--overwrite`` never replaces a directory holding anything else, nor a symbolic link.
    ``out`` may not be, lie inside or contain any of the local ``inputs`` (compared as resolved
    paths, so relative paths, ``..`` and symbolic links are seen through).
    """
    out = Path(out)
    real = out.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if real == source or source in real.parents or real in source.parents:
            relation = (
                "is" if real == source else "lies inside" if source in real.parents else "contains"
            )
            raise UnsafeOutputError(
                f"the output {out} {relation} the input {given}: writing it could destroy the "
                "input; choose an output directory outside the input"
            )
    if not (out.exists() or out.is_symlink()):
        return
    if out.is_symlink():
        raise UnsafeOutputError(
            f"{out} is a symbolic link (to {real}); classsim does not replace links: give "
            "another --out"
        )
    if not out.is_dir():
        raise ResultsExistError(f"{out} exists and is not a directory")
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return  # an empty directory holds nothing to lose
    if not overwrite:
        raise ResultsExistError(
            f"{out} already exists; pass --overwrite (overwrite=True) to replace it"
        )
    problems = foreign(out)
    if problems:
        raise UnsafeOutputError(
            f"refusing to replace {out}: it is not a {what} ({len(problems)} things are not: "
            f"{', '.join(problems[:5])}{', ...' if len(problems) > 5 else ''}); --overwrite "
            "only replaces an earlier one. Choose another output, or remove it yourself"
        )


def local_paths(source) -> list[Path]:
    """The local files or directories an input string names (comma-separated paths and globs;
    a glob names the directory above its first wildcard); none for tables, URIs and
    DataFrames."""
    if not isinstance(source, str):
        return []
    paths = []
    for part in (p.strip() for p in source.split(",")):
        if (
            not part
            or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/", part)
            and not part.startswith("file:")
        ):
            continue
        part = part.removeprefix("file://").removeprefix("file:")
        wild = min((part.find(ch) for ch in "*?[" if ch in part), default=-1)
        path = Path(os.path.dirname(part[:wild]) or ".") if wild >= 0 else Path(part)
        if path.exists():
            paths.append(path)
    return paths


def write_text_atomically(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` (UTF-8) in one rename: readers see the old file or the
    new one, never a part."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


def save_moments(path: Path, moments: Moments) -> None:
    """Write one transform's :class:`Moments` as ``.npz`` (no pickled objects)."""
    with open(path, "wb") as fh:
        np.savez(fh, n=np.int64(moments.n), mean=moments.mean, comoment=moments.comoment)


def load_moments(path: Path) -> Moments:
    """Read :class:`Moments` written by :func:`save_moments`."""
    with np.load(path, allow_pickle=False) as data:
        return Moments(int(data["n"]), data["mean"], data["comoment"])


def save_parts(path: Path, parts: list[Moments]) -> None:
    """Write a transform's per-part :class:`Moments` as one ``.npz`` of stacked arrays."""
    np.savez(
        path,
        n=np.array([p.n for p in parts], dtype=np.int64),
        mean=np.stack([p.mean for p in parts]),
        comoment=np.stack([p.comoment for p in parts]),
    )


def load_parts(path: Path) -> list[Moments]:
    """Read the per-part :class:`Moments` written by :func:`save_parts`."""
    with np.load(path, allow_pickle=False) as data:
        return [
            Moments(int(n), mean, comoment)
            for n, mean, comoment in zip(data["n"], data["mean"], data["comoment"], strict=True)
        ]


def save_npy_atomically(target: Path, array: np.ndarray) -> None:
    """Replace ``target`` with ``array`` as ``.npy`` (no pickles) in one rename."""
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)
    os.replace(tmp, target)


@contextlib.contextmanager
def atomic_directory(out: Path, overwrite: bool, **checks) -> Iterator[Path]:
    """Yield a temporary sibling of ``out``; rename it to ``out`` only if the block succeeds.

    ``checks`` go to :func:`check_writable` (what an existing ``out`` must be to be replaced).
    """
    check_writable(out, overwrite, **checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- unfinished runs


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _new_marker(stages: list[str], config: dict | None) -> dict:
    return {
        "note": "",
        "stages": stages,
        "done": [],
        "running": None,
        "stopped": None,
        "command": sys.argv,
        "config": config,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": _now(),
        "updated": _now(),
    }


def _describe(marker: dict) -> str:
    """One sentence on where the run stands, for people and error messages."""
    todo = [s for s in marker["stages"] if s not in marker["done"]]
    if marker.get("running") and not _alive(marker):
        where = f"{marker['running']} stopped (pid {marker['pid']} is gone: killed?)"
    elif marker.get("running"):
        where = f"{marker['running']} is running (pid {marker['pid']} on {marker['host']})"
    elif marker.get("stopped"):
        where = f"it stopped during {marker['stopped']['stage']} ({marker['stopped']['by']})"
    else:
        where = f"{', '.join(todo)} not started"
    return (
        f"this directory is unfinished: {where}; done: {', '.join(marker['done']) or 'none'}"
        f"; to do: {', '.join(todo)}. Rerun the command to finish it (what is done is kept; "
        "the settings of the stages to do may change)"
    )


def _alive(marker: dict) -> bool:
    """Whether the process that wrote ``marker`` may still run (always, on another host)."""
    if marker.get("host") != socket.gethostname() or not marker.get("pid"):
        return True
    try:
        os.kill(int(marker["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _write_marker(path: Path, marker: dict) -> None:
    marker = {**marker, "updated": _now()}
    marker["note"] = _describe(marker)
    write_text_atomically(path / UNFINISHED_FILE, json.dumps(marker, indent=1, default=str) + "\n")


def read_unfinished(path: str | Path) -> dict | None:
    """The ``unfinished.json`` of a results directory, or None when the directory is finished
    (or holds none)."""
    file = Path(path) / UNFINISHED_FILE
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:  # cut short by a kill: still unfinished, stage unknown
        return {
            "stages": [],
            "done": [],
            "running": None,
            "stopped": {"stage": "?", "by": f"{UNFINISHED_FILE} unreadable"},
            "pid": None,
            "host": None,
        }


def continue_unfinished(path: str | Path, config: dict | None) -> None:
    """Record that a rerun with ``config`` (equal for the stages done) finishes the unfinished
    run in ``path``: the stages it does next are compared with these settings."""
    marker = read_unfinished(path)
    if marker is not None:
        _write_marker(Path(path), {**marker, "config": config, "command": sys.argv})


def stage_done(path: str | Path, stage: str) -> bool:
    """Whether ``stage`` is not left unfinished in ``path`` by a stopped or running command."""
    marker = read_unfinished(path)
    return marker is None or (
        stage in marker["done"] or stage not in marker["stages"] and marker.get("running") != stage
    )


def require_stage(path: str | Path, stage: str, needed_by: str) -> None:
    """Refuse to go on when ``stage`` did not finish in ``path``."""
    if not stage_done(path, stage):
        marker = read_unfinished(path)
        raise UnfinishedResultsError(
            f"{needed_by} needs the {stage} stage of {path}, which did not finish: "
            f"{_describe(marker or {})} (or run `classsim {stage} {path} --overwrite`)"
        )


@contextlib.contextmanager
def stage(path: str | Path, name: str) -> Iterator[None]:
    """Mark ``path`` unfinished while stage ``name`` changes it; when the block ends, the stage
    is done (the marker goes when every planned stage is) or recorded as stopped, with why.

    Re-entrant: a stage of a run that already planned it, or the same stage nested, updates the
    run's marker instead of starting a new one.
    """
    path = Path(path)
    marker = read_unfinished(path) or _new_marker([name], None)
    if name not in marker["stages"]:
        marker["stages"].append(name)
    outer = marker.get("running") == name and marker.get("pid") == os.getpid()
    if not outer:
        _write_marker(path, {**marker, "running": name, "stopped": None, "pid": os.getpid()})
    try:
        yield
    except BaseException as err:
        if not outer:
            by = stop_signal(err)
            _write_marker(
                path,
                {
                    **(read_unfinished(path) or marker),
                    "running": None,
                    "stopped": {"stage": name, "by": by or f"error: {err}"[:300], "at": _now()},
                },
            )
        raise
    if outer:
        return
    marker = read_unfinished(path) or marker
    done = [*marker["done"], name] if name not in marker["done"] else marker["done"]
    if set(done) >= set(marker["stages"]):
        (path / UNFINISHED_FILE).unlink(missing_ok=True)
    else:
        _write_marker(path, {**marker, "done": done, "running": None, "stopped": None})
