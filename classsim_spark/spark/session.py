"""Spark sessions for classsim: local, cluster master, or Spark Connect.

The analysis itself only needs *a* SparkSession; this module makes one that works on a laptop,
under spark-submit and over Spark Connect, with the settings that bite otherwise:

- Python workers must run this interpreter (``PYSPARK_PYTHON``), or they import a Python without
  numpy/pyarrow.
- A local session binds to 127.0.0.1 and has no UI, so tests never listen on outside addresses.
- A local session's JVM (driver and executor in one) gets a quarter of the machine's memory
  (1 to 16 GiB) unless ``spark.driver.memory`` is given: Spark's 1 GiB default ran out of heap
  while reducing the tiles of 3,755 classes. Started for a known job (:func:`sized_for`), its
  heap and the tasks it runs at once fit the job to the memory free
  (:mod:`classsim_spark.spark.sizing`), or it is refused before it starts.
- Classic sessions need Java 17+; the check fails with a message instead of a JVM stack trace.
- A local session maps the classes its JVM loads from a class-data-sharing archive, written by
  the first `classsim` command (:mod:`classsim_spark.spark.jvm_archive`): about 3.5 s less
  per command.
- Over Spark Connect the server's Python may not have classsim installed: :func:`ship_package`
  sends the package as a zip artifact so the tasks can import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from classsim_spark.errors import ClasssimError
from classsim_spark.spark.jvm_archive import driver_java_options
from classsim_spark.spark.sizing import (
    GIB,
    ScanJob,
    available_memory,
    default_heap,
    local_threads,
    physical_memory,
    size_local_session,
)

log = logging.getLogger("classsim")
_SIZING: contextvars.ContextVar[Sizing | None] = contextvars.ContextVar(
    "classsim_sizing", default=None
)

MIN_JAVA = 17
LOCAL_CONF: dict[str, str] = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class JavaNotFoundError(ClasssimError, RuntimeError):
    """No usable Java runtime for a classic (JVM) Spark session."""


def set_python_env() -> None:
    """Point Spark's Python workers at this interpreter unless the user already chose one."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def check_java(min_version: int = MIN_JAVA) -> str:
    """Return the Java version string, or raise :class:`JavaNotFoundError` explaining the fix."""
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which(os.path.join(java_home, "bin", "java") if java_home else "java")
    hint = (
        f"PySpark 4 needs Java {min_version} or newer: install it (Debian: "
        f"`apt-get install openjdk-{min_version}-jre-headless`) and put `java` on PATH or set "
        "JAVA_HOME; or run against a remote cluster with --remote sc://HOST:PORT."
    )
    if java is None:
        raise JavaNotFoundError(f"no `java` found. {hint}")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    text = out.stderr + out.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        raise JavaNotFoundError(f"could not read the Java version from {java}: {text!r}. {hint}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < min_version:
        raise JavaNotFoundError(f"{java} is Java {major}. {hint}")
    return text.splitlines()[0]


def get_spark(
    master: str | None = None,
    remote: str | None = None,
    app_name: str = "classsim",
    conf: dict[str, str] | None = None,
    write_archive: bool = False,
) -> SparkSession:
    """Return the active session, or create one for ``master`` / ``remote``.

    Parameters
    ----------
    master : str, optional
        Spark master URL for a classic session (``local[2]``, ``spark://host:7077``). When neither
        ``master`` nor ``remote`` is given, an active session is reused; under ``spark-submit``
        the session gets its master; else ``local[*]`` starts.
    remote : str, optional
        Spark Connect URL (``sc://host:15002``); no local JVM is needed.
    app_name : str
    conf : dict, optional
        Extra Spark settings.
    write_archive : bool
        A local session this call starts writes the JVM's class archive when its JVM exits if
        there is none yet (:mod:`classsim_spark.spark.jvm_archive`; the caller then calls
        :func:`~classsim_spark.spark.jvm_archive.finish`). Local sessions use an existing
        archive either way.

    Returns
    -------
    pyspark.sql.SparkSession
    """
    set_python_env()
    conf = dict(conf or {})
    if remote:
        builder = SparkSession.builder.remote(remote)
        for key, value in conf.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    if master is None and launched_by_spark_submit():
        builder = SparkSession.builder  # spark-submit's --master, --name and --conf hold
    else:
        java_version = check_java()
        master = master or "local[*]"
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            conf = {**LOCAL_CONF, **conf}
            master, conf["spark.driver.memory"] = _local_size(master, conf)
            archive = driver_java_options(java_version, write_archive)
            if archive:
                given = conf.get("spark.driver.extraJavaOptions", "")
                conf["spark.driver.extraJavaOptions"] = f"{given} {archive}".strip()
        builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@dataclass
class Sizing:
    """The job local sessions started within :func:`sized_for` are sized for, and whether one
    was (then it fits; else the caller checks the session it got, :func:`check_fits`)."""

    job: ScanJob | None
    applied: bool = False


@contextlib.contextmanager
def sized_for(job: ScanJob | None) -> Iterator[Sizing]:
    """Size the local sessions started within the block for ``job``
    (:func:`~classsim_spark.spark.sizing.size_local_session`); None leaves Spark's sizes."""
    sizing = Sizing(job)
    token = _SIZING.set(sizing)
    try:
        yield sizing
    finally:
        _SIZING.reset(token)


def _local_size(master: str, conf: dict[str, str]) -> tuple[str, str]:
    """The master and heap of a local session: sized for the job of :func:`sized_for`, else
    ``master`` as given and a heap of :func:`~classsim_spark.spark.sizing.default_heap`; a
    heap the user set is kept either way."""
    given = conf.get("spark.driver.memory")
    sizing = _SIZING.get()
    job = sizing.job if sizing is not None else None
    memory = available_memory() if job is not None else physical_memory()
    if job is None or memory is None:
        return master, given or f"{default_heap(memory or GIB) >> 20}m"
    heap = memory_bytes(given) if given else None
    size = size_local_session(job, memory, os.cpu_count() or 1, heap, local_threads(master))
    sizing.applied = True
    return size.master, given or size.driver_memory


def session_for(spark=None) -> SparkSession:
    """The session a job runs in: ``spark``, or what the callable ``spark`` returns (started
    only once path input has been checked), or :func:`get_spark`'s; a Spark Connect session
    gets the package shipped (:func:`ship_package`)."""
    session = spark() if callable(spark) else spark or get_spark()
    if is_connect(session):
        ship_package(session)
    return session


def check_fits(spark: SparkSession, job: ScanJob) -> None:
    """Refuse, before its scan, a job that cannot fit the running local session's machine
    (raise :class:`~classsim_spark.spark.sizing.ScanMemoryError`); sessions on clusters and
    over Spark Connect are sized by their owners."""
    if is_connect(spark):
        return
    master = spark.conf.get("spark.master", "") or ""
    memory = available_memory()
    if not master.startswith("local") or memory is None:
        return
    heap = driver_heap_bytes(spark) or GIB
    size_local_session(job, memory, 1, heap, 1)


ENGINES: tuple[str, ...] = ("auto", "spark", "python")


def scans_in_process(engine: str, readable_here: bool, spark=None) -> bool:
    """Whether a scan runs in threads of this process
    (:mod:`classsim_spark.executor.local_scan`) rather than in Spark.

    Parameters
    ----------
    engine : {"auto", "spark", "python"}
        ``auto``: in this process when the input is ``readable_here`` and no session is given
        (``spark`` a session, not a function making one), active, or set up by
        ``spark-submit``.
    readable_here : bool
        The input is local or mounted Parquet read with pyarrow, described from its footers.
    spark : SparkSession, callable or None

    Raises
    ------
    ClasssimError
        ``engine="python"`` for input that needs Spark.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "spark":
        return False
    if engine == "python":
        if not readable_here:
            raise EngineError(
                "--engine python scans local or mounted Parquet files read with pyarrow, "
                "without --where, in the array or wide layout; this input needs Spark"
            )
        return True
    given = spark is not None and not callable(spark)
    return (
        readable_here
        and not given
        and SparkSession.getActiveSession() is None
        and not launched_by_spark_submit()
    )


class EngineError(ClasssimError, ValueError):
    """The engine asked for cannot scan this input."""


def launched_by_spark_submit() -> bool:
    """Whether this Python driver was started by ``spark-submit``, whose JVM (told by
    ``PYSPARK_GATEWAY_PORT``) already holds the master and settings the user gave it."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def driver_heap_bytes(spark: SparkSession) -> int | None:
    """The driver JVM's heap (``spark.driver.memory``) in bytes, when the session says."""
    try:
        text = spark.conf.get("spark.driver.memory", None)
    except Exception:  # some Connect servers refuse to show certain settings
        return None
    return None if text is None else memory_bytes(text)


def memory_bytes(text: str) -> int | None:
    """Bytes of a JVM memory setting (``"512m"``, ``"4g"``, ``"1024k"``, bytes); None if
    unreadable.

    >>> memory_bytes("512m"), memory_bytes("4g")
    (536870912, 4294967296)
    """
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", text.lower())
    if not match:
        return None
    return int(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " ")


def is_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect session."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def package_zip(dest_dir: str | Path) -> Path:
    """Zip the installed ``classsim_spark`` package (sources only) into ``dest_dir``."""
    package = Path(__file__).resolve().parents[1]  # classsim_spark/, above spark/
    target = Path(dest_dir) / "classsim_spark.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("classsim_spark") / path.relative_to(package))
    return target


def ship_package(spark: SparkSession) -> None:
    """Make ``classsim_spark`` importable by the tasks of a Spark Connect session.

    Classic sessions rely on the package being installed where the executors run (or on
    ``spark-submit --py-files``); a Connect server gets it as a Python-file artifact.
    """
    if not is_connect(spark):
        return
    with tempfile.TemporaryDirectory() as tmp:
        spark.addArtifacts(str(package_zip(tmp)), pyfile=True)
    log.info("shipped classsim_spark to the Spark Connect session as an artifact")
