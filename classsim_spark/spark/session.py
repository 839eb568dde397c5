"""Spark sessions for classsim: local, cluster master, or Spark Connect.

The analysis itself only needs *a* SparkSession; this module makes one that works on a laptop,
under spark-submit and over Spark Connect, with the settings that bite otherwise:

- Python workers must run this interpreter (``PYSPARK_PYTHON``), or they import a Python without
  numpy/pyarrow.
- A local session binds to 127.0.0.1 and has no UI, so tests never listen on outside addresses.
- A local session's JVM (driver and executor in one) gets a quarter of the machine's memory
  (1 to 16 GiB) unless ``spark.driver.memory`` is given: Spark's 1 GiB default ran out of heap
  while reducing the tiles of 3,755 classes.
- Classic sessions need Java 17+; the check fails with a message instead of a JVM stack trace.
- A local session maps the classes its JVM loads from a class-data-sharing archive, written by
  the first `classsim` command (:mod:`classsim_spark.spark.jvm_archive`): about 3.5 s less
  per command.
- Over Spark Connect the server's Python may not have classsim installed: :func:`ship_package`
  sends the package as a zip artifact so the tasks can import it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pyspark.sql import SparkSession

from classsim_spark.errors import ClasssimError
from classsim_spark.spark.jvm_archive import driver_java_options

log = logging.getLogger("classsim")

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
        builder = SparkSession.builder.master(master).appName(app_name)
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            conf = {**LOCAL_CONF, "spark.driver.memory": local_driver_memory(), **conf}
            archive = driver_java_options(java_version, write_archive)
            if archive:
                given = conf.get("spark.driver.extraJavaOptions", "")
                conf["spark.driver.extraJavaOptions"] = f"{given} {archive}".strip()
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def session_for(spark=None) -> SparkSession:
    """The session a job runs in: ``spark``, or what the callable ``spark`` returns (started
    only once path input has been checked), or :func:`get_spark`'s; a Spark Connect session
    gets the package shipped (:func:`ship_package`)."""
    session = spark() if callable(spark) else spark or get_spark()
    if is_connect(session):
        ship_package(session)
    return session


def launched_by_spark_submit() -> bool:
    """Whether this Python driver was started by ``spark-submit``, whose JVM (told by
    ``PYSPARK_GATEWAY_PORT``) already holds the master and settings the user gave it."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_driver_memory() -> str:
    """Heap of a local session's JVM: a quarter of physical memory, 1 to 16 GiB (``"6g"``)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "1g"
    return f"{max(1, min(16, total // 4 // 2**30))}g"


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
