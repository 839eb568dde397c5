"""A class-data-sharing archive for the local sessions classsim starts: faster JVM starts.

Every `classsim` command that starts a local session starts a JVM that loads, parses and verifies
the same few thousand Spark classes: about 3.5 of the 11.5 seconds of a small scan (CIFAR-10)
here. The JVM can dump the classes it loaded into an archive as it exits
(``-XX:ArchiveClassesAtExit``) and map them from there the next time
(``-XX:SharedArchiveFile``). classsim does both for its own local sessions:

- the first `classsim` command without an archive writes one when it ends (once per pyspark
  version and JDK; about 180 MB and a few seconds, said in the log), under
  ``$XDG_CACHE_HOME/classsim`` (``~/.cache/classsim``);
- later commands, and local sessions the Python API starts, use it.

Nothing depends on it: a JVM that finds the archive stale (other jars, another JDK) or damaged
ignores it silently (``-Xlog:cds=off``), and without one the session starts as before. Sessions
classsim does not start (spark-submit, Spark Connect, an active session) are left alone.
``CLASSSIM_JVM_ARCHIVE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger("classsim")

QUIET = "-Xlog:cds=off,cds+dynamic=off"
"""The JVM would otherwise log to stdout about the archive, which commands' output carries."""
SWITCH = "CLASSSIM_JVM_ARCHIVE"

_pending: Path | None = None
"""The archive this process's JVM writes as it exits, until :func:`finish` adopts it."""


def enabled() -> bool:
    """Whether classsim may use and write the archive (``CLASSSIM_JVM_ARCHIVE`` not 0/false/off)."""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "off", "no")


def archive_path(java_version: str) -> Path:
    """Where the archive of this pyspark and this JDK lives."""
    import pyspark

    java = shutil.which("java") or ""
    tag = hashlib.sha1(f"{java}|{java_version}|{pyspark.__file__}".encode()).hexdigest()[:10]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "classsim" / f"spark-{pyspark.__version__}-{tag}.jsa"


def driver_java_options(java_version: str, write: bool) -> str:
    """JVM options for a local session's driver: use the archive when there is one; else, when
    ``write``, dump one as the JVM exits (adopted by :func:`finish`)."""
    global _pending
    if not enabled():
        return ""
    archive = archive_path(java_version)
    if archive.is_file():
        return f"-XX:SharedArchiveFile={archive} {QUIET}"
    if not write:
        return ""
    archive.parent.mkdir(parents=True, exist_ok=True)
    _pending = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    return f"-XX:ArchiveClassesAtExit={_pending} {QUIET}"


def finish() -> None:
    """End a command whose local session was asked to write the archive: stop the session, let
    its JVM exit (it writes the archive as it does) and put the archive in place. Any failure
    leaves no archive behind and is not the command's failure."""
    global _pending
    partial, _pending = _pending, None
    if partial is None:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    start = time.perf_counter()
    try:
        session = SparkSession.getActiveSession()
        gateway = SparkContext._gateway
        if session is not None:
            session.stop()
        if gateway is not None and getattr(gateway, "proc", None) is not None:
            gateway.proc.stdin.close()  # the driver JVM exits when its stdin closes
            gateway.proc.wait(timeout=300)
        if partial.is_file() and partial.stat().st_size > 0:
            partial.replace(partial.with_name(partial.name.split(".jsa.")[0] + ".jsa"))
            log.info(
                "saved the JVM's class archive for faster starts (once): %s, %.1f s",
                partial.parent,
                time.perf_counter() - start,
            )
    except Exception as err:  # never the command's failure
        log.debug("no JVM class archive: %s", err)
    finally:
        partial.unlink(missing_ok=True)
