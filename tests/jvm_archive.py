"""The JVM settings of every JVM the suite starts, and the class-data-sharing archive among them.

Each JVM the tests start (local sessions, the Spark Connect server, the standalone cluster, the
commands the tests run) is short-lived and loads, parses and verifies the same few thousand Spark
classes, and the suite is bound by CPU on two cores. Two settings start each with less CPU:

- the client compiler alone and the serial collector (one `classsim similarity` of the demo:
  24 -> 15.5 CPU seconds);
- a dynamic class-data-sharing archive of the classes a local session loads for a scan, dumped
  once per environment (``make test`` builds ``.venv/spark-classes.jsa`` with this script, ~20 s,
  ~180 MB): a local session starts in 2.1 s instead of 4.0 s and runs its first job in 0.9 s
  instead of 1.95 s.

Neither changes a result. The archive belongs to this environment's pyspark jars and this JDK; a
JVM that finds it stale (other jars, another JDK) ignores it, silently (``-Xlog:cds=off``: the
JVM would log to stdout, which some tests read). Without the file the suite runs as before.

Usage: ``python tests/jvm_archive.py OUT.jsa``
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
ARCHIVE = Path(sys.prefix) / "spark-classes.jsa"
"""Where ``make test`` puts the archive: in the virtual environment whose jars it holds."""
QUIET = "-Xlog:cds=off,cds+dynamic=off"


def java_tool_options(archive: Path = ARCHIVE) -> str:
    """``JAVA_TOOL_OPTIONS`` for the suite's JVMs: :data:`JVM_OPTIONS`, and the archive if built."""
    if not archive.is_file():
        return JVM_OPTIONS
    return f"{JVM_OPTIONS} -XX:SharedArchiveFile={archive} {QUIET}"


def dump(out: Path) -> None:
    """Run a small local scan in a JVM that writes the classes it loaded to ``out`` as it exits.

    The JVM writes the archive when it exits, after the session stops; it is written under a
    temporary name and renamed, so a failed dump leaves no archive behind.
    """
    from pyspark import SparkContext

    from classsim_spark.api import similarity
    from classsim_spark.demo.generator import DemoSpec
    from classsim_spark.demo.writer import write_demo
    from classsim_spark.spark.session import get_spark

    os.environ["JAVA_TOOL_OPTIONS"] = JVM_OPTIONS
    os.environ["CLASSSIM_JVM_ARCHIVE"] = "0"  # not on top of the archive classsim keeps for users
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_demo(
            DemoSpec(samples=2000, classes=24, top_groups=3, mid_groups=6, seed=1),
            Path(tmp) / "data",
        )
        spark = get_spark(
            "local[2]",
            conf={"spark.driver.extraJavaOptions": f"-XX:ArchiveClassesAtExit={partial} {QUIET}"},
        )
        jvm = SparkContext._gateway.proc  # the driver JVM, which exits when its stdin closes
        similarity(str(data / "scores"), out=Path(tmp) / "res", spark=spark)
        spark.stop()
        jvm.stdin.close()
        jvm.wait(timeout=120)
    if not partial.is_file():
        raise SystemExit(f"the JVM wrote no class archive at {partial}")
    partial.replace(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__.rsplit("Usage: ", 1)[1])
    dump(Path(sys.argv[1]))
